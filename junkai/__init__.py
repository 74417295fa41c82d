"""junkai: the batch pipeline behind the 巡回連絡カード of a police station."""


class JunkaiError(Exception):
    """An error the operator can act on; its message is Japanese and one line."""
