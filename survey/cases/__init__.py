"""The case library (经典案例评选): a supervisor or a department nominates a closed problem, or a
supervisor a monitor's suggestion that was adopted, with a write-up (背景, 做法, 成效, figures and
photos). A year's selection round has a panel, weighted criteria and each member's scores, which
stay private to their author until the round closes; then the weighted ranking is shown and the
best cases are selected and published. A published case may mask the company's name
(江苏某某科技有限公司) for every reader without access to that company, in its text too, with
whatever else the text calls it: a declared short name (以下简称“天盛智能”), the name without its
place and legal form, and the company's aliases an editor adds. Such a reader never finds the
case by any of those names, and a panel member without access reads the titles masked too. The
library is searched by category, sector and words.

library: the records, nominating, publishing and reading; selection: the rounds, scores and
ranking; masking: the company's names in a masked case and its aliases.
"""
