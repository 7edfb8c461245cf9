from tests.inventory.conftest import second_ctx, second_env  # noqa: F401 - shared fixtures
