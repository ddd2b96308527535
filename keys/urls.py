from django.urls import path

from . import confirmation_views, views

app_name = "keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.key_create, name="create"),
    path("<int:key_id>/", views.key_detail, name="detail"),
    path("<int:key_id>/token/", views.key_token, name="token"),
    path("<int:key_id>/rotate/", views.key_rotate, name="rotate"),
    path("<int:key_id>/expire/", views.key_expire, name="expire"),
    path("<int:key_id>/stop-old-token/", views.key_end_overlap, name="end_overlap"),
    path("<int:key_id>/allowed-ips/", views.key_allowed_ips, name="allowed_ips"),
    path("<int:key_id>/delete/", views.key_delete, name="delete"),
    path("<int:key_id>/reveal/", views.key_reveal, name="reveal"),
    # issue 22: confirm destructive actions
    path(
        "<int:key_id>/confirm-destructive/",
        confirmation_views.key_confirm_switch,
        name="confirm_switch",
    ),
    path(
        "confirmations/<int:confirmation_id>/",
        confirmation_views.confirmation,
        name="confirmation",
    ),
]
