from django.urls import path
from orders import views

urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/async/", views.order_list_async, name="order-list-async"),
]
