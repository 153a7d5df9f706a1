from django.urls import path

from reconciliation import views_invoices as views

app_name = "invoices"

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("new/", views.invoice_new, name="new"),
    path("upload/", views.invoice_upload, name="upload"),
    path("<int:invoice_id>/", views.invoice_detail, name="detail"),
]
