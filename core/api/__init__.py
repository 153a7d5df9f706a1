"""The API pieces every app's DRF views share: the error handler and body, the JSON
parser, strict input serializers and fields, and the OpenAPI error schema."""
