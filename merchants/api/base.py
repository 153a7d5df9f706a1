"""The base every shop-facing API view extends: API key auth, rate limit, JSON."""

from rest_framework.views import APIView

from merchants.api.authentication import (
    ApiKeyAuthentication,
    ApiKeyRateLimitMixin,
    HasApiKey,
)


class MerchantApiView(ApiKeyRateLimitMixin, APIView):
    """`self.merchant` is the merchant behind the key; `self.api_key` the key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.api_key = request.auth
        self.merchant = request.auth.merchant
