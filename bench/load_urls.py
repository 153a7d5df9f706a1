"""Production's routes plus /bench/plain: the anchor of the load run, a view that
does what any Django view does (middleware, session, a response) and nothing of
Tonle's."""

from django.http import HttpResponse
from django.urls import include, path


def plain(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/plain", plain),
    path("", include("config.urls")),
]
