from django.urls import path

from statements import views, views_imports

app_name = "statements"
urlpatterns: list = [
    # documents (5b): transactions, statements, packs
    path("transactions/", views.transaction_list, name="transactions"),
    path(
        "transactions/export.csv",
        views.transaction_export,
        {"fmt": "csv"},
        name="transactions-export-csv",
    ),
    path(
        "transactions/export-excel.csv",
        views.transaction_export,
        {"fmt": "excel_csv"},
        name="transactions-export-excel-csv",
    ),
    path(
        "transactions/export.xlsx",
        views.transaction_export,
        {"fmt": "xlsx"},
        name="transactions-export-xlsx",
    ),
    path("", views.statement_list, name="statements"),
    path(
        "accounts/<int:account_id>/download/",
        views.statement_download,
        name="statement-download",
    ),
    path("packs/", views.pack_list, name="packs"),
    path("packs/<int:pack_id>/status/", views.pack_status, name="pack-status"),
    path("packs/<int:pack_id>/download/", views.pack_download, name="pack-download"),
    # ingest (5a): statement file imports
    path("imports/", views_imports.import_list, name="import-list"),
    path("imports/upload/", views_imports.import_upload, name="import-upload"),
    path("imports/<int:import_id>/", views_imports.import_detail, name="import-detail"),
    path("imports/<int:import_id>/map/", views_imports.import_map, name="import-map"),
    path(
        "imports/<int:import_id>/confirm/",
        views_imports.import_confirm,
        name="import-confirm",
    ),
    path(
        "imports/<int:import_id>/discard/",
        views_imports.import_discard,
        name="import-discard",
    ),
    path(
        "imports/<int:import_id>/file/", views_imports.import_file, name="import-file"
    ),
    path(
        "imports/feeds/<int:connection_id>/sync/",
        views_imports.feed_sync_request,
        name="import-feed-sync",
    ),
]
