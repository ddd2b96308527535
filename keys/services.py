def key_revoke_all_for_owner(*, owner, actor) -> int:
    """Revoke every key of an account at once (account deletion). Filled in by the keys app."""
    return 0
