"""The base every shop-facing API view extends: API key auth, scope, rate limit."""

from rest_framework.views import APIView

from merchants.api.authentication import (
    UNDECLARED,
    ApiKeyAuthentication,
    ApiKeyRateLimitMixin,
    HasApiKey,
    HasScope,
)


class MerchantApiView(ApiKeyRateLimitMixin, APIView):
    """`self.merchant` is the merchant behind the key; `self.api_key` the key.

    Each subclass sets `required_scope` to the ApiScope its route needs (None: any
    valid key); one that does not is refused to every key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey, HasScope]
    required_scope: str | None | object = UNDECLARED

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.api_key = request.auth
        self.merchant = request.auth.merchant
