from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from .decorators import permission_required
from .forms import AlertsForm, LanguageForm, LoginForm
from .menu import menu_for
from .models import AuthEvent
from .services import record_event, set_alerts

# Users whose menu holds only these tools, scanning among them, work on the scan screen.
BOOTH_TOOLS = {"scan", "register", "active", "drivers", "muster"}


def landing_url(user) -> str:
    """Where a user lands after logging in: booth operators straight on the scan screen."""
    keys = {item["key"] for item in menu_for(user)}
    if "scan" in keys and keys <= BOOTH_TOOLS:
        try:
            return reverse("drivers:scan")
        except NoReverseMatch:
            pass
    return reverse("home")


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return landing_url(self.request.user)

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_minutes:
            response.status_code = 429
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """His own password: other sessions of his end at their next request (Django's session
    hash), this one stays open."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password was changed."))
        return response


@login_required
def home(request):
    """The main menu: large tiles, only what the user's role may open."""
    return render(request, "home.html")


@login_required
@require_http_methods(["GET", "POST"])
def language(request):
    """Pick the language of one's own screens (stored on the user, no prefix in paths)."""
    user = request.user
    form = LanguageForm(request.POST or None, initial={"language": user.language})
    if request.method == "POST" and form.is_valid():
        user.language = form.cleaned_data["language"]
        user.save(update_fields=["language"])
        nxt = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
            nxt = reverse("home")
        return redirect(nxt)
    return render(request, "accounts/language.html", {"form": form, "next": request.GET.get("next", "")})


@permission_required("drivers.view_dashboard")  # the plant's managers: supervisors and administrators
@require_http_methods(["GET", "POST"])
def alerts(request):
    """A manager chooses which events reach him by e-mail, one by one or in a daily digest."""
    user = request.user
    form = AlertsForm(request.POST or None, initial={
        "email": user.email, "alert_events": user.alert_events, "alert_digest": user.alert_digest})
    if request.method == "POST" and form.is_valid():
        set_alerts(user=user, email=form.cleaned_data["email"], events=form.cleaned_data["alert_events"],
                   digest=form.cleaned_data["alert_digest"])
        messages.success(request, _("Your alerts are saved."))
        return redirect("accounts:alerts")
    return render(request, "accounts/alerts.html", {"form": form})


def forbidden(request, exception=None):
    """handler403: log who tried to open what, and answer with a page a guard understands."""
    user = request.user if getattr(request, "user", None) and request.user.is_authenticated else None
    record_event(AuthEvent.Kind.FORBIDDEN, request=request, user=user)
    return render(request, "403.html", {"PLANT_NAME": settings.PLANT_NAME}, status=403)
