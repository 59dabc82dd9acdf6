from django.urls import path  # noqa: F401

app_name = "drivers"

urlpatterns = [
    # --- scan screen and API (issue 3) ---
    # --- monitoring screens (issue 4) ---
    # --- registration, badges, import, media (issue 5) ---
]
