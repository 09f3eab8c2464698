from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

app_name = "plugin"


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plugin home")


urlpatterns = [path("", home, name="home")]
