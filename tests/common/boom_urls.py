"""URLs that fail on purpose, to prove that failures never leak details to clients."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

CANARY = "canary-Jane-Doe-eczema-7731"


class BoomApi(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError(f"database said: Key (email)=({CANARY}) already exists")


def boom_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(CANARY)


urlpatterns = [
    path("api/v1/boom/", BoomApi.as_view()),
    path("plain-boom/", boom_view),
    path("", include("carecore.urls")),
]

handler404 = "carecore.common.errors.handler404"
handler500 = "carecore.common.errors.handler500"
