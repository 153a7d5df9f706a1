"""Payment pages, mounted at /payments/ (app "payments")."""

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("", views.payment_list, name="list"),
    path("export.csv", views.payment_export, {"fmt": "csv"}, name="export-csv"),
    path(
        "export-excel.csv",
        views.payment_export,
        {"fmt": "excel_csv"},
        name="export-excel-csv",
    ),
    path("export.xlsx", views.payment_export, {"fmt": "xlsx"}, name="export-xlsx"),
    path("new/", views.payment_new, name="new"),
    path("slips/", views.slip_verify, name="slips"),
    path("<int:payment_id>/", views.payment_detail, name="detail"),
    path("<int:payment_id>/status.json", views.payment_status, name="status"),
    path(
        "<int:payment_id>/qr.png",
        views.payment_image,
        {"fmt": "png"},
        name="qr-png",
    ),
    path(
        "<int:payment_id>/qr.svg",
        views.payment_image,
        {"fmt": "svg"},
        name="qr-svg",
    ),
    path(
        "<int:payment_id>/card.png",
        views.payment_image,
        {"fmt": "card"},
        name="card",
    ),
    path(
        "<int:payment_id>/stand.pdf",
        views.payment_image,
        {"fmt": "stand"},
        name="stand",
    ),
    path("<int:payment_id>/refund/", views.payment_refund, name="refund"),
    path("<int:payment_id>/cancel/", views.payment_cancel, name="cancel"),
    path("<int:payment_id>/settle/", views.payment_settle, name="settle"),
    path("webhooks/", views.webhook_endpoint_list, name="webhooks"),
    path(
        "webhooks/<int:endpoint_id>/",
        views.webhook_endpoint_detail,
        name="webhook-detail",
    ),
    path(
        "webhooks/<int:endpoint_id>/rotate/",
        views.webhook_endpoint_rotate,
        name="webhook-rotate",
    ),
    path(
        "webhooks/<int:endpoint_id>/toggle/",
        views.webhook_endpoint_toggle,
        name="webhook-toggle",
    ),
    path(
        "webhooks/<int:endpoint_id>/test/",
        views.webhook_endpoint_test,
        name="webhook-test",
    ),
    path(
        "webhooks/deliveries/<int:delivery_id>/redeliver/",
        views.webhook_delivery_redeliver,
        name="webhook-redeliver",
    ),
]
