from core.checks import webhook_private_addresses_refused


def test_deploy_check_warns_while_webhooks_may_reach_private_addresses(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    (warning,) = webhook_private_addresses_refused(None)
    assert warning.id == "tonle.W002"
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    assert webhook_private_addresses_refused(None) == []
