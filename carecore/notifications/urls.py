from django.urls import path

from . import apis

urlpatterns = [
    path("notifications/", apis.NotificationListApi.as_view(), name="notification-list"),
    path(
        "notifications/read-all/",
        apis.NotificationReadAllApi.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<uuid:notification_id>/read/",
        apis.NotificationReadApi.as_view(),
        name="notification-read",
    ),
    path(
        "notification-preferences/",
        apis.NotificationPreferencesApi.as_view(),
        name="notification-preferences",
    ),
    path(
        "push-subscriptions/",
        apis.PushSubscriptionListApi.as_view(),
        name="push-subscription-list",
    ),
    path(
        "push-subscriptions/<uuid:subscription_id>/",
        apis.PushSubscriptionDetailApi.as_view(),
        name="push-subscription-detail",
    ),
]
