"""A bench-only baseline endpoint: authenticates like every API view and inserts one row.

Mounted only when CARECORE_BENCH_ENDPOINTS is on (off by default, never in production). It lets
bench/messaging_send_throughput.py compare a real send with the cheapest possible write through
the same stack (ASGI server, auth, throttles, one INSERT).
"""

from __future__ import annotations

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carecore.audit.models import AuditEvent


class BareInsertApi(APIView):
    def post(self, request: Request) -> Response:
        AuditEvent.objects.create(object_type="bench", action="create", actor_id=request.user.id)
        return Response(status=status.HTTP_204_NO_CONTENT)
