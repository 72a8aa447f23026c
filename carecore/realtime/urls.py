from django.urls import path

from . import apis

urlpatterns = [
    path("realtime/tickets/", apis.TicketApi.as_view(), name="realtime-ticket"),
    path("events/", apis.EventListApi.as_view(), name="event-list"),
]
