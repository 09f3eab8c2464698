"""Import of existing data from CSV / .xlsx with row-level error reports (数据导入).

``reading`` opens files, ``schema`` parses cells and holds the report, ``engine`` runs one
import all-or-nothing, ``entities/`` has one importer per entity, ``services`` is what
views and the API call.
"""
