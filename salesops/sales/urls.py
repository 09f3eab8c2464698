from __future__ import annotations

from django.urls import path

from salesops.sales import views, views_deals, views_merge

app_name = "sales"

urlpatterns = [
    path("customers/", views.customers, name="customers"),
    path("customers/new/", views.customer_create_view, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/reassign/", views.customer_reassign_view, name="customer_reassign"),
    path("customers/<int:pk>/delete/", views.customer_delete_view, name="customer_delete"),
    path("products/", views.products, name="products"),
    path("products/new/", views.product_create_view, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("price-lists/", views.price_lists, name="price_lists"),
    path("price-lists/new/", views.price_list_create_view, name="price_list_create"),
    path("price-lists/<int:pk>/", views.price_list_detail, name="price_list_detail"),
    path("price-lists/<int:pk>/edit/", views.price_list_edit, name="price_list_edit"),
    path("orders/", views.orders, name="orders"),
    path("orders/new/", views.order_create_view, name="order_create"),
    path("orders/new/line/", views.order_line_row, name="order_line_row"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", views.order_cancel_view, name="order_cancel"),
    path("orders/<int:pk>/return/", views.order_return_view, name="order_return"),
    path("returns/", views.returns, name="returns"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path("customers/<int:pk>/merge/", views_merge.customer_merge_view, name="customer_merge"),
    path("quotes/", views_deals.quotes, name="quotes"),
    path("quote-settings/", views_deals.discount_settings, name="discount_settings"),
    path("customers/<int:pk>/quotes/new/", views_deals.quote_new, name="quote_new"),
    path("quotes/<int:pk>/", views_deals.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", views_deals.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/pdf/", views_deals.quote_pdf, name="quote_pdf"),
    path("quotes/<int:pk>/<slug:action>/", views_deals.quote_action, name="quote_action"),
    path("contracts/", views_deals.contracts, name="contracts"),
    path("customers/<int:pk>/contracts/new/", views_deals.contract_new, name="contract_new"),
    path("contracts/<int:pk>/", views_deals.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views_deals.contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/amend/", views_deals.contract_amend, name="contract_amend"),
    path("contracts/<int:pk>/<slug:action>/", views_deals.contract_action, name="contract_action"),
    path("receivable-plans/", views_deals.plans, name="plans"),
    path("receipts/", views_deals.receipts, name="receipts"),
    path("receipts/<int:pk>/", views_deals.receipt_detail, name="receipt_detail"),
]
