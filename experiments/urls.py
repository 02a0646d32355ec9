"""Every page of the experiments app, by capability."""

from experiments.abtests import urls as abtest_urls
from experiments.benchmarks import urls as benchmark_urls
from experiments.dashboards import urls as dashboard_urls
from experiments.registry import urls as registry_urls
from experiments.tracking import urls as tracking_urls

# The registry goes first: its MLflow endpoints share the prefix of tracking's catch-all MLflow route.
urlpatterns = (
    registry_urls.urlpatterns
    + tracking_urls.urlpatterns
    + benchmark_urls.urlpatterns
    + abtest_urls.urlpatterns
    + dashboard_urls.urlpatterns
)
