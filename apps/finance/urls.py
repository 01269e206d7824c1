from django.urls import path

from . import views, views_reports

app_name = "finance"

urlpatterns = [
    path("contracts/", views.contract_list, name="contracts"),
    path("contracts/expiring/", views.expiring, name="expiring"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/print/", views.contract_print, name="contract_print"),
    path("contracts/<int:pk>/<str:action>/", views.contract_action, name="contract_action"),
    path("contracts/<int:pk>/payments/new/", views.payment_create, name="payment_create"),
    path("contracts/<int:pk>/refunds/new/", views.refund_create, name="refund_create"),
    path("payments/", views.payment_list, name="payments"),
    path("payments/<int:pk>/<str:action>/", views.payment_action, name="payment_action"),
    path("refunds/", views.refund_list, name="refunds"),
    path("refunds/<int:pk>/<str:action>/", views.refund_action, name="refund_action"),
    path("packages/", views.package_list, name="packages"),
    path("packages/new/", views.package_edit, name="package_create"),
    path("packages/<int:pk>/", views.package_edit, name="package_edit"),
    path("settings/", views.finance_settings, name="settings"),
    path("reports/", views_reports.sales_report, name="report"),
    path("reports/export/", views_reports.sales_report_export, name="report_export"),
]
