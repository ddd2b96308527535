from django.urls import path

from . import email_views, password_views, policy_views, views

app_name = "accounts"

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/signup/done/", views.signup_done, name="signup_done"),
    path("accounts/verify-email/", email_views.verify_email_resend, name="verify_email_resend"),
    path("accounts/verify-email/<str:token>/", email_views.verify_email, name="verify_email"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        password_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        password_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password-reset/done/",
        password_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("profile/", views.security, name="profile"),
    path("profile/security/", views.security, name="security"),
    path("profile/verify/", views.verify, name="verify"),
    path("profile/totp/", views.totp_enrol, name="totp_enrol"),
    path("profile/backup-codes/", views.backup_codes, name="backup_codes"),
    path(
        "profile/backup-codes/new/", views.backup_codes_regenerate, name="backup_codes_regenerate"
    ),
    path("profile/devices/<int:device_id>/remove/", views.device_remove, name="device_remove"),
    path("profile/password/", password_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "profile/sessions/sign-out/",
        password_views.sign_out_everywhere,
        name="sign_out_everywhere",
    ),
    path(
        "profile/sessions/<str:session_id>/end/",
        password_views.session_end,
        name="session_end",
    ),
    path("profile/delete/", views.account_delete, name="delete"),
    path("profile/api-key-policy/", policy_views.key_policy, name="key_policy"),
]
