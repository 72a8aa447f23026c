"""Forms of the care-plan editor (staff_web/plan_pages.py): the draft's summary, its goals'
targets and due dates, its activities' wording, a new activity, and the two versions to compare.

They only parse; every rule about plans is careplans' (`care_plan_edit` re-checks lengths, ids
and who may change what).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone

from careplans.rules import Category

if TYPE_CHECKING:
    from careplans.models import CarePlan

# The rule set's categories and the clinician's own ("custom"), as a clinician reads them.
CATEGORY_CHOICES = [
    (value, value.replace("_", " ").capitalize())
    for name, value in vars(Category).items()
    if name.isupper()
]
# A plan from the rule set has a dozen activities at most; far above that is not a person typing.
MOST_ITEMS = 100


class SummaryForm(forms.Form):
    # The draft's `updated_at` when the editor was rendered: a save made since (by a colleague,
    # or in another tab) refuses this one rather than be undone by it.
    saved_at = forms.CharField(widget=forms.HiddenInput, required=False)
    summary = forms.CharField(
        label="Summary for the patient",
        help_text="Shown at the top of the patient's plan once published.",
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_saved_at(self) -> datetime | None:
        text = self.cleaned_data["saved_at"]
        if not text:
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError("Reload the page and make your changes again.") from None


class GoalForm(forms.Form):
    id = forms.UUIDField(widget=forms.HiddenInput)
    title = forms.CharField(label="Goal wording", max_length=200)
    target_change = forms.FloatField(
        label="Lower the score by at least", min_value=0, max_value=1000
    )
    due_date = forms.DateField(
        label="Due date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    repeat_every_weeks = forms.IntegerField(
        label="Check-in every (weeks)", min_value=1, max_value=52, required=False
    )

    def clean_due_date(self) -> Any:
        due = self.cleaned_data["due_date"]
        if due is not None and due < timezone.localdate():
            raise forms.ValidationError("Choose today or a later date.")
        return due


class ActivityForm(forms.Form):
    id = forms.UUIDField(widget=forms.HiddenInput)
    title = forms.CharField(label="Title", max_length=200)
    instructions = forms.CharField(
        label="Instructions for the patient",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    remove = forms.BooleanField(label="Remove this activity", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("remove"):
            # Its wording no longer matters: it is going.
            self.errors.pop("title", None)
            self.errors.pop("instructions", None)
        return data


class NewActivityForm(forms.Form):
    """An activity the clinician adds; left blank, nothing is added."""

    category = forms.ChoiceField(label="Category", choices=CATEGORY_CHOICES, initial="custom")
    title = forms.CharField(label="Title", max_length=200, required=False)
    instructions = forms.CharField(
        label="Instructions for the patient",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    rationale = forms.CharField(
        label="Why this helps (the patient sees it)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, adding: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.adding = adding

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.adding or data.get("title") or data.get("instructions"):
            for name, message in (
                ("title", "Enter a title."),
                ("instructions", "Enter what to do."),
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        return data

    def activity(self) -> dict[str, Any] | None:
        """The new activity as `care_plan_edit` takes it, or None when left blank."""
        data = self.cleaned_data
        if not data.get("title"):
            return None
        return {
            "category": data["category"],
            "title": data["title"],
            "instructions": data["instructions"],
            "rationale": data["rationale"],
        }


GoalFormSet = forms.formset_factory(
    GoalForm, extra=0, max_num=MOST_ITEMS, validate_max=True, absolute_max=MOST_ITEMS
)
ActivityFormSet = forms.formset_factory(
    ActivityForm, extra=0, max_num=MOST_ITEMS, validate_max=True, absolute_max=MOST_ITEMS
)


@dataclass
class PlanEditor:
    """Every form of one draft's editor, bound to a POST or showing the draft as it is."""

    summary: SummaryForm
    goals: Any  # GoalFormSet
    activities: Any  # ActivityFormSet
    new_activity: NewActivityForm
    problems: list[str]  # the service's refusals that belong to no field

    @classmethod
    def for_plan(cls, plan: CarePlan, data: Any = None, *, adding: bool = False) -> PlanEditor:
        return cls(
            summary=SummaryForm(
                data,
                initial={"summary": plan.summary, "saved_at": plan.updated_at.isoformat()},
            ),
            goals=GoalFormSet(
                data,
                prefix="goal",
                initial=[
                    {
                        "id": goal.id,
                        "title": goal.title,
                        # 6, not 6.0
                        "target_change": f"{goal.target_change:g}",
                        "due_date": goal.due_date,
                        "repeat_every_weeks": goal.repeat_every_weeks,
                    }
                    for goal in plan.goals.all()
                ],
            ),
            activities=ActivityFormSet(
                data,
                prefix="activity",
                initial=[
                    {"id": item.id, "title": item.title, "instructions": item.instructions}
                    for item in plan.activities.all()
                ],
            ),
            new_activity=NewActivityForm(data, prefix="new", adding=adding),
            problems=[],
        )

    def is_valid(self) -> bool:
        # Every form is validated, so every error is shown at once.
        results = [
            self.summary.is_valid(),
            self.goals.is_valid(),
            self.activities.is_valid(),
            self.new_activity.is_valid(),
        ]
        return all(results)

    def changes(self) -> dict[str, Any]:
        """`care_plan_edit`'s arguments: the summary and the full new lists (a kept item sends
        only what the editor shows, so its rule, rationale and evidence stay as they are)."""
        activities = [
            {key: form.cleaned_data[key] for key in ("id", "title", "instructions")}
            for form in self.activities.forms
            if not form.cleaned_data.get("remove")
        ]
        added = self.new_activity.activity()
        if added is not None:
            activities.append(added)
        return {
            "expected_updated_at": self.summary.cleaned_data["saved_at"],
            "summary": self.summary.cleaned_data["summary"],
            "goals": [dict(form.cleaned_data) for form in self.goals.forms],
            "activities": activities,
        }


class CompareForm(forms.Form):
    """Two versions of one patient's plan; the choices are that patient's plans only, so no
    other patient's plan can be named."""

    older = forms.ChoiceField(label="Older version")
    newer = forms.ChoiceField(label="Newer version")

    def __init__(self, *args: Any, versions: list[CarePlan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(str(plan.id), version_label(plan)) for plan in versions]
        for name in ("older", "newer"):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("older") and data.get("older") == data.get("newer"):
            self.add_error("newer", "Choose a different version from the older one.")
        return data


def version_label(plan: CarePlan) -> str:
    """The name of a version in the pickers and headings: "Plan 2 (active)"."""
    return f"Plan {plan.number} ({plan.get_status_display().lower()})"
