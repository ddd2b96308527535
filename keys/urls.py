from django.urls import path

from . import views

app_name = "keys"

urlpatterns = [
    path("", views.key_list, name="list"),
]
