from django.urls import include, path

urlpatterns = [
    path("bakong/", include("sandbox.bakong_urls")),
    path("feed/", include("sandbox.feed_urls")),
]
