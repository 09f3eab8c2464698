from django.urls import include, path
from django.views.i18n import set_language

from salesops.api import api
from salesops.core import registry
from salesops.core import views as core_views
from salesops.core.views import accounts as account_views

urlpatterns = [
    path("", core_views.dashboard, name="dashboard"),
    path("healthz", core_views.healthz, name="healthz"),
    # Django's auth views, throttled and recorded (salesops/core/views/accounts.py).
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/", api.urls),
]
# Every module's pages under the prefix it registered (core.registry); a module whose URL
# module does not import stops the site from starting.
urlpatterns += [path(prefix, include(module)) for prefix, module in registry.url_modules()]
# Static files: whitenoise (settings.MIDDLEWARE) serves the collected STATIC_ROOT; nginx may
# serve it instead (docs/operators.md "Serving").

# Error pages in the UI's language, inside the layout (salesops/core/error_views.py).
handler400 = "salesops.core.error_views.bad_request"
handler403 = "salesops.core.error_views.permission_denied"
handler404 = "salesops.core.error_views.page_not_found"
handler500 = "salesops.core.error_views.server_error"
