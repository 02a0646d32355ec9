"""Runs in a real browser: charts drawn by plotly, comparing runs, attaching to tickets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from experiments.models import Param, Run
from tests.browser.conftest import login
from tests.experiments.factories import RunFactory, log_history
from tests.factories import TicketFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_runs(cast):
    baseline = RunFactory(project=cast.project, name="sgd-baseline", started_by=cast.engineer)
    challenger = RunFactory(project=cast.project, name="mlp-challenger", started_by=cast.engineer)
    for run, lr, losses in ((baseline, "0.1", [0.9, 0.6, 0.5, 0.45]), (challenger, "0.01", [0.8, 0.5, 0.35, 0.3])):
        Param.objects.create(run=run, key="lr", value=lr)
        Param.objects.create(run=run, key="seed", value="7")
        log_history(run, "val_loss", losses)
        log_history(run, "val_auc", [1 - x / 2 for x in losses])
    return baseline, challenger


def test_open_a_run_and_see_its_metric_charts(page, cast, two_runs):
    baseline, _ = two_runs
    login(page, "engineer")
    page.goto("/p/AUTH/runs/")
    page.get_by_role("link", name="sgd-baseline").click()
    page.wait_for_url(f"**/p/AUTH/runs/{baseline.pk}/")
    chart = page.locator("[data-metric=val_loss]")
    chart.locator("svg.main-svg").first.wait_for()
    assert chart.locator(".scatterlayer .trace").count() == 1
    assert page.locator("[data-testid=metric-charts] [data-metric]").count() == 2
    assert "0.45" in page.locator("[data-testid=latest-table]").inner_text()
    assert "lr" in page.locator("[data-testid=params-table]").inner_text()


def test_compare_two_runs_from_the_list(page, cast, two_runs):
    login(page, "stakeholder")
    page.goto("/p/AUTH/runs/")
    compare = page.locator("[data-compare-button]")
    assert compare.is_disabled()
    page.get_by_label("Select sgd-baseline").check()
    page.get_by_label("Select mlp-challenger").check()
    assert compare.is_enabled()
    compare.click()
    page.wait_for_url(re.compile(r".*/p/AUTH/runs/compare/\?runs=\d+&runs=\d+"))
    assert page.locator("tr[data-param=lr][data-differs]").count() == 1
    assert page.locator("tr[data-param=seed][data-differs]").count() == 0
    chart = page.locator("[data-testid=compare-charts] [data-metric=val_loss]")
    chart.locator("svg.main-svg").first.wait_for()
    assert chart.locator(".scatterlayer .trace").count() == 2  # the two histories overlaid
    assert chart.locator(".legend").count() == 1


def test_sort_by_a_metric_column(page, cast, two_runs):
    login(page, "engineer")
    page.goto("/p/AUTH/runs/")
    header = page.locator("th a.sort-link", has_text="val_auc")
    header.click()
    page.wait_for_url(re.compile(r".*sort=-metric%3Aval_auc|.*sort=-metric:val_auc"))
    first = page.locator("[data-testid=run-table] tbody tr").first
    assert "mlp-challenger" in first.inner_text()


def test_attach_a_run_to_a_ticket_from_its_page(page, cast, two_runs):
    baseline, _ = two_runs
    ticket = TicketFactory(project=cast.project, title="Try a linear model")
    login(page, "engineer")
    page.goto(f"/p/AUTH/runs/{baseline.pk}/")
    page.get_by_label("Ticket key").fill(ticket.key)
    page.get_by_role("button", name="Attach").click()
    page.wait_for_selector(".alert-success")
    assert ticket.key in page.locator("[data-testid=run-ticket]").inner_text()
    assert Run.objects.get(pk=baseline.pk).ticket == ticket


def test_ticket_panel_attaches_and_detaches_runs(page, cast, two_runs):
    baseline, challenger = two_runs
    ticket = TicketFactory(project=cast.project, title="Beat the baseline")
    challenger.ticket = ticket
    challenger.save()
    login(page, "engineer")
    page.goto(f"/t/{ticket.key}/runs/")
    panel = page.locator("[data-testid=ticket-runs]")
    assert panel.locator("tbody tr").count() == 1
    picker = panel.get_by_role("combobox", name=f"Run to attach to {ticket.key}")
    picker.fill("baseline")
    panel.get_by_role("option", name=f"#{baseline.pk} sgd-baseline").click()
    panel.get_by_role("button", name="Attach").click()
    page.wait_for_selector(f"[data-testid=ticket-runs] tr[data-run-id='{baseline.pk}']")
    assert page.locator("[data-testid=ticket-runs] tbody tr").count() == 2
    page.locator(f"tr[data-run-id='{challenger.pk}']").get_by_role("button", name="Detach").click()
    page.wait_for_selector(f"tr[data-run-id='{challenger.pk}']", state="detached")
    assert set(Run.objects.filter(ticket=ticket).values_list("pk", flat=True)) == {baseline.pk}
    # The panel htmx swapped in has a working picker too; the keyboard picks.
    picker = panel.get_by_role("combobox", name=f"Run to attach to {ticket.key}")
    # Typed at once, before htmx has set the new panel's picker up: it asks when it is set up.
    picker.fill(f"#{challenger.pk}")
    expect(panel.get_by_role("option")).to_have_count(1)
    picker.press("Enter")  # typed but not chosen: the list answers, nothing is posted
    picker.press("ArrowDown")
    picker.press("Enter")
    assert picker.input_value() == f"#{challenger.pk} mlp-challenger"
    panel.get_by_role("button", name="Attach").click()
    page.wait_for_selector(f"[data-testid=ticket-runs] tr[data-run-id='{challenger.pk}']")
    assert set(Run.objects.filter(ticket=ticket).values_list("pk", flat=True)) == {baseline.pk, challenger.pk}


def test_the_link_mlflow_prints_lands_on_the_run(page, cast, two_runs):
    baseline, _ = two_runs
    login(page, "stakeholder")
    page.goto(f"/mlflow/#/experiments/{cast.project.pk}/runs/{baseline.uuid}")
    page.wait_for_url(f"**/p/AUTH/runs/{baseline.pk}/")
    assert page.locator("[data-testid=run-name]").inner_text().startswith("sgd-baseline")


def test_choose_metric_and_param_columns(page, cast, two_runs):
    login(page, "engineer")
    page.goto("/p/AUTH/runs/")
    page.get_by_test_id("columns-button").click()
    chooser = page.get_by_test_id("column-chooser")
    chooser.get_by_label("val_loss").uncheck()
    chooser.get_by_label("lr").check()
    chooser.get_by_role("button", name="Show columns").click()
    page.wait_for_url(re.compile(r".*columns=1.*"))
    headers = page.locator("[data-testid=run-table] thead th").all_inner_texts()
    assert any("lr" in h for h in headers)
    assert not any("val_loss" in h for h in headers)
    assert "0.01" in page.locator("tr", has_text="mlp-challenger").inner_text()


def test_pick_a_ticket_by_typing_attach_the_run_and_see_it_on_the_ticket(page, cast, two_runs):
    baseline, _ = two_runs
    for n in range(30):
        TicketFactory(project=cast.project, title=f"Unrelated study {n}")
    ticket = TicketFactory(project=cast.project, title="Try a linear model")
    login(page, "engineer")
    page.goto(f"/p/AUTH/runs/{baseline.pk}/")
    box = page.get_by_role("combobox", name="Ticket key")
    box.fill("linear")
    listbox = page.get_by_test_id("ticket-picker").get_by_role("listbox", name="Suggestions")
    option = listbox.get_by_role("option", name=f"{ticket.key} · Try a linear model")
    # The server was asked for "linear" and found one (the newest tickets may show first, on focus).
    expect(listbox.get_by_role("option")).to_have_count(1)
    assert box.get_attribute("aria-expanded") == "true"
    box.press("ArrowDown")
    assert option.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == option.get_attribute("id")
    box.press("Enter")  # picks; it does not submit
    assert box.get_attribute("aria-expanded") == "false"
    assert box.input_value() == f"{ticket.key} · Try a linear model"
    assert page.locator("[data-testid=ticket-picker] input[name=ticket]").input_value() == ticket.key
    page.get_by_role("button", name="Attach").click()
    page.wait_for_selector(".alert-success")
    assert ticket.key in page.locator("[data-testid=run-ticket]").inner_text()
    page.goto(f"/t/{ticket.key}/runs/")
    page.wait_for_selector(f"[data-testid=ticket-runs] tr[data-run-id='{baseline.pk}']")
    assert Run.objects.get(pk=baseline.pk).ticket == ticket


def test_escape_closes_the_list_and_a_typed_unknown_key_is_refused(page, cast, two_runs):
    baseline, _ = two_runs
    login(page, "engineer")
    page.goto(f"/p/AUTH/runs/{baseline.pk}/")
    box = page.get_by_role("combobox", name="Ticket key")
    box.fill("AUTH-404")
    page.get_by_test_id("ticket-picker").get_by_text("No matches", exact=True).first.wait_for()
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    page.get_by_role("button", name="Attach").click()
    page.wait_for_selector(".alert-danger")
    assert "AUTH-404" in page.locator(".alert-danger").inner_text()
    assert Run.objects.get(pk=baseline.pk).ticket is None


def test_the_runs_page_filters_by_a_ticket_picked_as_you_type(page, cast, two_runs):
    _, challenger = two_runs
    ticket = TicketFactory(project=cast.project, title="Beat the baseline")
    challenger.ticket = ticket
    challenger.save()
    login(page, "stakeholder")
    page.goto("/p/AUTH/runs/")
    assert page.locator("[data-testid=run-table] tbody tr").count() == 2
    box = page.get_by_role("combobox", name="Ticket")
    box.fill("beat")
    page.get_by_role("option", name=f"{ticket.key} · Beat the baseline").click()
    page.wait_for_url(re.compile(rf".*ticket={ticket.key}"))
    page.wait_for_function("document.querySelectorAll('[data-testid=run-table] tbody tr').length === 1")
    assert "mlp-challenger" in page.locator("[data-testid=run-table] tbody").inner_text()
    # The fixed choice the server does not list: runs attached to no ticket.
    box.fill("")
    box.press("ArrowDown")
    page.get_by_role("option", name="Not attached").click()
    page.wait_for_url(re.compile(r".*ticket=none"))
    page.wait_for_function("document.querySelector('[data-testid=run-table] tbody').innerText.includes('sgd-baseline')")
    assert page.locator("[data-testid=run-table] tbody tr").count() == 1
    # A key typed by hand and Enter filters too (the ticket filter takes keys); ArrowUp wraps to the last.
    box.fill(ticket.key.lower())
    expect(page.get_by_test_id("ticket-filter").get_by_role("option")).to_have_count(1)
    box.press("Escape")
    box.press("Enter")
    page.wait_for_url(re.compile(rf".*ticket={ticket.key.lower()}"))
    expect(page.locator("[data-testid=run-table] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=run-table] tbody")).to_contain_text("mlp-challenger")
    box.fill("")
    box.press("ArrowDown")
    options = page.get_by_test_id("ticket-filter").get_by_role("option")
    expect(options.first).to_have_text("Not attached")
    box.press("ArrowUp")
    expect(options.last).to_have_attribute("aria-selected", "true")
