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


# Usage errors in Japanese. Typer's own copy of Click writes them as fixed English f-strings (no
# gettext to hook), so the one place to translate is where Typer prints them: rich_format_error.
# Known shapes are rebuilt from the exception's fields; other messages by pattern; the rest unchanged.
_PATTERNS = [
    (r"Got unexpected extra argument\(s\) \((.*)\)", "余分な引数があります: {0}"),
    (r"No such command '(.*)'\.", "{0} というコマンドはありません"),
    (r"Missing command\.", "コマンドを指定してください"),
    (r"Option '(.*)' requires an argument\.", "{0} には値を指定してください"),
    (r"Option '(.*)' requires (\d+) arguments\.", "{0} には値を {1} 個指定してください"),
    (r"Option '(.*)' does not take a value\.", "{0} は値をとりません"),
    (r"(?:Value error, )?(.*) is not one of (.*)\.", "{0} は選べません。選べるもの: {1}"),
    (r"(?:Value error, )?(.*) is not a valid (integer|float)\.?", "{0} は数ではありません"),
    (r"Input should be a valid (integer|number).*", "数を指定してください"),
    (r"(.*) is a directory\.", "{0} はフォルダです (ファイルを指定してください)"),
    (r"(.*) is a file\.", "{0} はファイルです (フォルダを指定してください)"),
    (r"(.*) does not exist\.", "{0} がありません"),
    (r"(.*) is not readable\.", "{0} を読めません"),
    (r"(.*) is not writable\.", "{0} に書き込めません"),
]


def japanese_error(e) -> str:
    from typer._click import exceptions as ce

    if isinstance(e, ce.NoSuchOption):
        text = f"{e.option_name} というオプションはありません"
        return text + (f" (使えるもの: {', '.join(sorted(e.possibilities))})" if e.possibilities else "")
    if isinstance(e, ce.MissingParameter):
        hint = e.param.get_error_hint() if e.param is not None else ""
        kind = {"option": "オプション", "argument": "引数"}.get(e.param_type or getattr(e.param, "param_type_name", ""),
                                                                  "値")
        return f"{kind} {hint} を指定してください" if hint else f"{kind}を指定してください"
    message = _translate(e.message)
    if isinstance(e, ce.BadParameter):
        hint = e.param_hint or (e.param.get_error_hint() if e.param is not None else None)
        if isinstance(hint, (list, tuple)):
            hint = " / ".join(hint)
        return f"{hint} の値が正しくありません: {message}" if hint else f"値が正しくありません: {message}"
    return message


def _translate(message: str) -> str:
    import re

    for pattern, japanese in _PATTERNS:
        m = re.fullmatch(pattern, message, re.S)
        if m:
            return japanese.format(*m.groups())
    return message


_rich_format_error = ru.rich_format_error


def _rich_format_error_ja(self) -> None:
    try:
        text = japanese_error(self)
    except Exception:  # a translation must never hide the error itself
        text = self.format_message()
    self.format_message = lambda: text  # this one exception only
    _rich_format_error(self)


ru.rich_format_error = _rich_format_error_ja
