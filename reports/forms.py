from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Frequency, Period, ReportFormat, ReportSchedule, Weekday
from .services import subscriber_choices


class SaveFilterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80,
                           widget=forms.TextInput(attrs={"placeholder": _("e.g. Scale, last week")}))
    period = forms.ChoiceField(
        label=_("Dates"), required=False,
        choices=[("", _("The dates chosen above"))] + list(Period.choices),
    )
    shared = forms.BooleanField(label=_("Share with other supervisors"), required=False)


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(label=_("Send"), choices=Frequency.choices, initial=Frequency.WEEKLY)
    weekday = forms.TypedChoiceField(label=_("Day"), choices=[("", "—")] + list(Weekday.choices), coerce=int,
                                     required=False, empty_value=None)
    hour = forms.TypedChoiceField(label=_("Hour"), choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int,
                                  initial=7)
    format = forms.ChoiceField(label=_("Format"), choices=ReportFormat.choices, initial=ReportFormat.XLSX)
    subscribers = forms.ModelMultipleChoiceField(
        label=_("Subscribers"), queryset=None, widget=forms.CheckboxSelectMultiple,
        help_text=_("People with an e-mail who may export the history."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, schedule: ReportSchedule | None = None, **kwargs):
        if schedule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "frequency": schedule.frequency, "weekday": schedule.weekday, "hour": schedule.hour,
                "format": schedule.format, "subscribers": list(schedule.subscribers.all()),
                "is_active": schedule.is_active,
            }
        super().__init__(*args, **kwargs)
        self.fields["subscribers"].queryset = subscriber_choices()
        self.fields["subscribers"].label_from_instance = lambda u: f"{u.get_full_name() or u.username} <{u.email}>"

    def clean(self):
        data = super().clean()
        if data.get("frequency") == Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", _("Choose the day of the week."))
        return data
