from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "safety_reset.inventory"
    label = "inventory"
    verbose_name = "Inventory"
