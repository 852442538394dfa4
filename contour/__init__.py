"""The test contour: faithful local emulators of Bitrix24 REST and the 1C standard OData interface.

Production code (plugins/, dags/) never imports this package; the contour and crm1c are two
independent readings of the same protocols.
"""
