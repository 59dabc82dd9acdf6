from django.conf import settings


def plant(request):
    return {"PLANT_NAME": settings.PLANT_NAME}
