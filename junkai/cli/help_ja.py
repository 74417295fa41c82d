"""`--help` in Japanese. Typer writes some English of its own (the help option's text, "Usage:",
the panel titles) and type hints such as <list[str]>: the commands and groups use the classes
below (the help option's text and the usage line), the panel titles are Typer's settings
(typer.rich_utils), and the type hints become Japanese words."""

from __future__ import annotations

import typer.core
import typer.rich_utils as ru

HELP_TEXT = "この説明を表示して終了する。"
USAGE = "使い方: "


class _Japanese:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_TEXT
        return option

    def format_usage(self, ctx, formatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix=USAGE)


class Command(_Japanese, typer.core.TyperCommand):
    """A command whose --help is Japanese throughout."""


class Group(_Japanese, typer.core.TyperGroup):
    """A group whose --help is Japanese throughout."""


ru.ARGUMENTS_PANEL_TITLE = "引数"
ru.OPTIONS_PANEL_TITLE = "オプション"
ru.COMMANDS_PANEL_TITLE = "コマンド"
ru.ERRORS_PANEL_TITLE = "エラー"
ru.ABORTED_TEXT = "中止しました。"
ru.RICH_HELP = "説明は [blue]'{command_path} {help_option}'[/] で表示されます。"
ru.DEFAULT_STRING = "[既定: {}]"
ru.ENVVAR_STRING = "[環境変数: {}]"
ru.REQUIRED_LONG_STRING = "[必須]"
ru.DEPRECATED_STRING = "(廃止予定) "

# the words of the type hints: <文字列> rather than <str>; a switch (--json) gets none
TYPES = {"str": "文字列", "int": "整数", "float": "数値", "bool": "", "path": "パス", "file": "ファイル",
         "directory": "フォルダ", "datetime": "日時", "uuid": "UUID"}
OPTIONS_METAVAR = "[オプション]"
SUBCOMMAND_METAVAR = "コマンド [引数]..."


def _japanese_type(self, ctx) -> str | None:
    if self.metavar is not None:
        return self.metavar
    if getattr(self, "is_flag", False):
        return None
    inner = self.display_type(ctx).removeprefix("<").removesuffix(">")
    many = inner.startswith("list[")
    inner = inner.removeprefix("list[").removesuffix("]") if many else inner
    words = inner if "|" in inner else TYPES.get(inner.lower(), inner)
    if not words:
        return None
    return f"<{words}>" + (" (複数可)" if many or self.nargs != 1 else "")


typer.core.TyperOption.display_type_rich = _japanese_type
typer.core.TyperArgument.display_type_rich = _japanese_type
