"""A bench-only baseline endpoint: authenticates like every API view and writes one audit row.

Mounted only by the benchmark's own URLconf (bench/urls.py, through bench/settings.py), never
by the product. It lets bench/messaging_send_throughput.py compare a real send with the cheapest
possible write through the same stack (ASGI server, auth, throttles, one INSERT), written the
way the product writes it (`audit_record`).
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.audit.models import Action
from carecore.audit.services import audit_record


class BareInsertApi(APIView):
    def post(self, request: Request) -> Response:
        audit_record(actor=request.user, object_type="bench", action=Action.CREATE)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
