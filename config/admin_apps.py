"""The admin app with Tonle's site (config.admin_site), which asks for the
two-factor step; a module of its own because app configs load before models."""

from django.contrib.admin.apps import AdminConfig


class TonleAdminConfig(AdminConfig):
    default_site = "config.admin_site.TonleAdminSite"
