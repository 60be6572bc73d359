from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "safety_reset.catalog"
    label = "catalog"
    verbose_name = "Catalog"
