from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from fibe_access.accounts.actor import Actor, Source

from . import services
from .models import Attempt, Delivery, WebhookEndpoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """The secret is never shown: it is not among the fields."""

    list_display = [
        "url",
        "owner",
        "event_list",
        "is_active",
        "failing_since",
        "disabled_reason",
        "created_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["url", "owner__email", "description"]
    list_select_related = ["owner"]
    fields = [
        "owner",
        "url",
        "events",
        "description",
        "has_secret",
        "is_active",
        "disabled_reason",
        "failing_since",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    def delete_model(self, request, obj):
        actor = Actor.from_request(request, source=Source.ADMIN)
        services.endpoint_delete(actor=actor, endpoint=obj)

    def delete_queryset(self, request, queryset):
        actor = Actor.from_request(request, source=Source.ADMIN)
        for endpoint in queryset:
            services.endpoint_delete(actor=actor, endpoint=endpoint)

    @admin.display(description="events")
    def event_list(self, endpoint):
        return ", ".join(endpoint.events)

    @admin.display(description="signed", boolean=True)
    def has_secret(self, endpoint):
        return endpoint.has_secret


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "trigger",
        "response_status",
        "duration_ms",
        "failure_reason",
        "request_headers",
        "request_body_text",
        "response_headers",
        "response_body",
        "created_at",
    ]
    readonly_fields = fields

    @admin.display(description="request body")
    def request_body_text(self, attempt):
        return bytes(attempt.request_body).decode("utf-8", "replace")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "uid",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "is_test",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "is_test", "event__type", "endpoint"]
    search_fields = ["uid", "endpoint__url", "endpoint__owner__email"]
    list_select_related = ["event", "endpoint"]
    fields = [
        "uid",
        "event_type",
        "endpoint",
        "status",
        "attempt_count",
        "next_attempt_at",
        "is_test",
        "body",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="body")
    def body(self, delivery):
        return bytes(delivery.event.body).decode("utf-8", "replace")

    def has_redeliver_permission(self, request):
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver(self, request, queryset):
        actor = Actor.from_request(request, source=Source.ADMIN)
        sent = 0
        for delivery in queryset:
            try:
                services.delivery_redeliver(actor=actor, delivery=delivery)
                sent += 1
            except ValidationError as exc:
                self.message_user(
                    request, f"{delivery.uid}: {' '.join(exc.messages)}", messages.WARNING
                )
        self.message_user(
            request, f"Redelivering {sent} deliver{'y' if sent == 1 else 'ies'}.", messages.SUCCESS
        )
