"""What supervisors read: the dashboard's filters, KPIs and chart frames over the summary tables
(cubes), common problems, the weekly report and the spreadsheet exports."""
