from django.urls import path

from . import apis

urlpatterns = [
    path("threads/", apis.ThreadListApi.as_view(), name="thread-list"),
    path("threads/<uuid:thread_id>/", apis.ThreadDetailApi.as_view(), name="thread-detail"),
    path(
        "threads/<uuid:thread_id>/messages/",
        apis.MessageListApi.as_view(),
        name="thread-messages",
    ),
    path("threads/<uuid:thread_id>/read/", apis.ThreadReadApi.as_view(), name="thread-read"),
    path("threads/<uuid:thread_id>/assign/", apis.ThreadAssignApi.as_view(), name="thread-assign"),
    path("threads/<uuid:thread_id>/close/", apis.ThreadCloseApi.as_view(), name="thread-close"),
    path("threads/<uuid:thread_id>/reopen/", apis.ThreadReopenApi.as_view(), name="thread-reopen"),
    path("attachments/", apis.AttachmentUploadApi.as_view(), name="attachment-list"),
    path(
        "attachments/<uuid:attachment_id>/",
        apis.AttachmentDownloadApi.as_view(),
        name="attachment-detail",
    ),
]
