from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path("profile/", views.security, name="profile"),
    path("profile/security/", views.security, name="security"),
    path("profile/verify/", views.verify, name="verify"),
    path("profile/totp/", views.totp_enrol, name="totp_enrol"),
    path("profile/backup-codes/", views.backup_codes, name="backup_codes"),
    path(
        "profile/backup-codes/new/", views.backup_codes_regenerate, name="backup_codes_regenerate"
    ),
    path("profile/devices/<int:device_id>/remove/", views.device_remove, name="device_remove"),
    path("profile/delete/", views.account_delete, name="delete"),
]
