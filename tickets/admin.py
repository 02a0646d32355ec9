from django.contrib import admin

from tickets.models import (
    Comment,
    Epic,
    ImportedIssue,
    Membership,
    Project,
    Reassessment,
    ReassessmentDecision,
    Sprint,
    Ticket,
    TicketEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Inspect planning data in the admin; changes go through the app, which writes the history."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "created_at"]
    search_fields = ["key", "name"]
    readonly_fields = ["ticket_counter"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role", "project"]
    list_select_related = ["project", "user"]
    search_fields = ["user__username", "project__key"]
    autocomplete_fields = ["user", "project"]


@admin.register(Epic)
class EpicAdmin(ReadOnlyAdmin):
    list_display = ["title", "project", "status", "order"]
    list_filter = ["project", "status"]
    list_select_related = ["project"]


@admin.register(Sprint)
class SprintAdmin(ReadOnlyAdmin):
    list_display = ["name", "project", "state", "start_date", "end_date"]
    list_filter = ["project", "state"]
    list_select_related = ["project"]


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "project", "kind", "work_type", "status", "sprint", "assignee"]
    list_filter = ["project", "kind", "work_type", "status"]
    list_select_related = ["project", "sprint", "assignee"]
    search_fields = ["title"]


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "field", "old", "new", "actor", "created_at"]
    list_filter = ["field"]
    list_select_related = ["ticket__project", "actor"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "author", "created_at"]
    list_select_related = ["ticket__project", "author"]


@admin.register(Reassessment)
class ReassessmentAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "created_at"]


@admin.register(ReassessmentDecision)
class ReassessmentDecisionAdmin(ReadOnlyAdmin):
    list_display = ["__str__"]


@admin.register(ImportedIssue)
class ImportedIssueAdmin(ReadOnlyAdmin):
    list_display = ["jira_key", "project", "ticket", "epic", "imported_at"]
    list_filter = ["project"]
    list_select_related = ["project", "ticket__project", "epic"]
    search_fields = ["jira_key"]
