from django.db import migrations


def seed(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.bulk_create(Order(customer=f"customer {i}", total_cents=100 * i)
                              for i in range(1, 51))


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
