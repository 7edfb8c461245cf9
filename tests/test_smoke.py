from tests.helpers import add_service, walk_service


def test_walk_to_integrated(ctx):
    ref = add_service(ctx)
    walk_service(ctx, ref, "integrated")
    from engine.lifecycle.services import show
    assert show(ctx, ref)["state"] == "integrated"


def test_cli_add(cli):
    out = cli("add", "--title", "T", "--partner", "P", "--opd", "DKP", "--json").json()
    assert out["state"] == "proposed"
