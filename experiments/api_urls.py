"""The experiments app's part of /api/v1/, by capability."""

from experiments.abtests import api_urls as abtest_api_urls
from experiments.benchmarks import api_urls as benchmark_api_urls
from experiments.dashboards import api_urls as dashboard_api_urls
from experiments.tracking import api_urls as tracking_api_urls

urlpatterns = (
    tracking_api_urls.urlpatterns
    + benchmark_api_urls.urlpatterns
    + abtest_api_urls.urlpatterns
    + dashboard_api_urls.urlpatterns
)
