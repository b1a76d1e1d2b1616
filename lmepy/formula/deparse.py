"""R's ``deparse()`` of a formula, with R's line breaking (``width.cutoff = 60``), for the
``Formula:`` line that lme4 and lmerTest print. It is formula text, so it lives with the IR
(which prints one line) rather than with the fit objects that show it."""

from __future__ import annotations

from lmepy.formula import ir
from lmepy.formula.terms import expand_double_verts

__all__ = ["deparse_lines", "deparse_lme4_formula"]



class _Deparser:
    """R's ``deparse`` of a formula expression tree: a line is broken after a spaced binary
    operator (``+``, ``~``, ``|``, ...) or an argument's comma once it passes the cutoff, and
    continuation lines are indented by four spaces per level, as R does."""

    def __init__(self, cutoff: int = 60):
        self.cutoff = cutoff
        self.lines: list[str] = []
        self.cur = ""
        self.indent = 0
        self.startline = True

    def write(self, s: str) -> None:
        if self.startline:
            self.startline = False
            self.cur += "".join("    " if i <= 4 else "  " for i in range(1, self.indent + 1))
        self.cur += s

    def linebreak(self, flag: bool) -> bool:
        if len(self.cur) > self.cutoff:
            if not flag:
                flag = True
                self.indent += 1
            self.lines.append(self.cur)
            self.cur = ""
            self.startline = True
        return flag

    def finish(self) -> list[str]:
        if self.cur or not self.lines:
            self.lines.append(self.cur)
        return self.lines

    def expr(self, e: object) -> None:
        if isinstance(e, ir.Formula):
            if e.lhs is None:
                self.write("~")
                self.expr(e.rhs)
            else:
                self._binary("~", e.lhs, e.rhs)
        elif isinstance(e, ir.BinOp):
            if e.op in ir._SPACED:
                self._binary(e.op, e.left, e.right)
            else:
                self.expr(e.left)
                self.write(e.op)
                self.expr(e.right)
        elif isinstance(e, ir.Paren):
            self.write("(")
            self.expr(e.body)
            self.write(")")
        elif isinstance(e, ir.UnaryOp):
            self.write(e.op)
            self.expr(e.operand)
        elif isinstance(e, ir.Call):
            self.write(ir.r_name(e.func) + "(")
            args: list[tuple[str | None, object]] = [(None, a) for a in e.args]
            args += [(k, v) for k, v in e.kwargs]
            flag = False
            for i, (k, v) in enumerate(args):
                if k is not None:
                    self.write(ir.r_name(k) + " = ")
                self.expr(v)
                if i < len(args) - 1:
                    self.write(", ")
                    flag = self.linebreak(flag)
            if flag:
                self.indent -= 1
            self.write(")")
        else:
            self.write(str(e))

    def _binary(self, op: str, left: object, right: object) -> None:
        self.expr(left)
        self.write(f" {op} ")
        flag = self.linebreak(False)
        self.expr(right)
        if flag:
            self.indent -= 1


def deparse_lines(e: object, cutoff: int = 60) -> list[str]:
    """R's ``deparse(e)``: the expression as one or more lines."""
    d = _Deparser(cutoff)
    d.expr(e)
    return d.finish()


def deparse_lme4_formula(f: ir.Formula) -> list[str]:
    """The formula as lme4 prints it from its call: written as given except for lme4's
    ``||`` expansion (``expandDoubleVerts``), deparsed and broken into lines as R deparses."""
    return deparse_lines(expand_double_verts(f))
