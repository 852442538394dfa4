"""Field lists of the emulated entities (the answers of ``crm.*.fields``), as data."""

from __future__ import annotations

from contour.bitrix.fields import Schema

COMPANY = Schema("""
ID integer ro col=id | ID
COMPANY_TYPE crm_status status=COMPANY_TYPE | Company Type
TITLE string req | Company Name
LOGO file | Logo
LEAD_ID crm_lead ro | Lead
HAS_PHONE char ro | Phone Set
HAS_EMAIL char ro | E-mail Set
HAS_IMOL char ro | Open Line Set
ASSIGNED_BY_ID user | Responsible Person
CREATED_BY_ID user ro | Created By
MODIFY_BY_ID user ro | Modified By
BANKING_DETAILS string | Banking Details
INDUSTRY crm_status status=INDUSTRY | Industry
REVENUE double | Annual Revenue
CURRENCY_ID crm_currency | Currency
EMPLOYEES crm_status status=EMPLOYEES | Number of Employees
COMMENTS string | Comment
DATE_CREATE datetime ro col=date_create | Creation Date
DATE_MODIFY datetime ro col=date_modify | Modification Date
OPENED char | Available to Everyone
IS_MY_COMPANY char | My Company
ORIGINATOR_ID string col=originator_id | External Source
ORIGIN_ID string col=origin_id | Identifier in External Source
ORIGIN_VERSION string | Original Version
ADDRESS string | Physical Address
ADDRESS_2 string | Address (line 2)
ADDRESS_CITY string | City
ADDRESS_POSTAL_CODE string | Postal Code
ADDRESS_REGION string | Region
ADDRESS_PROVINCE string | Province
ADDRESS_COUNTRY string | Country
ADDRESS_COUNTRY_CODE string | Country Code
ADDRESS_LOC_ADDR_ID integer | Location Address ID
ADDRESS_LEGAL string | Legal Address
REG_ADDRESS string | Legal Address
REG_ADDRESS_2 string | Legal Address (line 2)
REG_ADDRESS_CITY string | Legal Address City
REG_ADDRESS_POSTAL_CODE string | Legal Address Postal Code
REG_ADDRESS_REGION string | Legal Address Region
REG_ADDRESS_PROVINCE string | Legal Address Province
REG_ADDRESS_COUNTRY string | Legal Address Country
REG_ADDRESS_COUNTRY_CODE string | Legal Address Country Code
REG_ADDRESS_LOC_ADDR_ID integer | Legal Address Location ID
UTM_SOURCE string | Advertising System
UTM_MEDIUM string | Traffic Type
UTM_CAMPAIGN string | Campaign Identifier
UTM_CONTENT string | Campaign Content
UTM_TERM string | Campaign Search Term
LAST_ACTIVITY_BY user | Last Activity Author
LAST_ACTIVITY_TIME datetime | Last Activity Time
LAST_COMMUNICATION_TIME string ro | Last Communication Date
CONTACT_ID crm_contact multi | Contact
PHONE crm_multifield multi | Phone
EMAIL crm_multifield multi | E-mail
WEB crm_multifield multi | Website
IM crm_multifield multi | Messenger
""")

_REQUISITE_PART = """
DATE_CREATE datetime ro col=date_create | Created on
DATE_MODIFY datetime ro col=date_modify | Modified on
CREATED_BY_ID user ro | Created by
MODIFY_BY_ID user ro | Modified by
NAME string req | Name
CODE string | Code
XML_ID string | External key
ORIGINATOR_ID string | External source
ACTIVE char | Active
"""  # the stamps, name and codes a requisite and its bank details share

REQUISITE = Schema(
    """
ID integer ro col=id | ID
ENTITY_TYPE_ID integer req imm col=entity_type_id | Entity Type ID
ENTITY_ID integer req imm col=entity_id | Entity ID
PRESET_ID integer req | Template ID
"""
    + _REQUISITE_PART
    + """ADDRESS_ONLY char | Address only
SORT integer | Sort order
RQ_NAME string | Full name
RQ_FIRST_NAME string | First name
RQ_LAST_NAME string | Last name
RQ_SECOND_NAME string | Second name
RQ_COMPANY_ID string | Company ID
RQ_COMPANY_NAME string | Company name
RQ_COMPANY_FULL_NAME string | Full company name
RQ_COMPANY_REG_DATE string | Registration date
RQ_DIRECTOR string | CEO
RQ_ACCOUNTANT string | Chief accountant
RQ_CEO_NAME string | CEO name
RQ_CEO_WORK_POS string | CEO position
RQ_CONTACT string | Contact person
RQ_EMAIL string | E-mail
RQ_PHONE string | Phone
RQ_FAX string | Fax
RQ_IDENT_DOC string | Identity document
RQ_IDENT_DOC_SER string | Series
RQ_IDENT_DOC_NUM string | Number
RQ_IDENT_DOC_DATE string | Issue date
RQ_IDENT_DOC_ISSUED_BY string | Issued by
RQ_IDENT_DOC_DEP_CODE string | Subdivision code
RQ_INN string col=inn | INN
RQ_KPP string | KPP
RQ_IFNS string | IFNS
RQ_OGRN string | OGRN
RQ_OGRNIP string | OGRNIP
RQ_OKPO string | OKPO
RQ_OKTMO string | OKTMO
RQ_OKVED string | OKVED
RQ_ST_CERT_SER string | Certificate series
RQ_ST_CERT_NUM string | Certificate number
RQ_ST_CERT_DATE string | Certificate date
RQ_VAT_PAYER char | VAT payer
RQ_BASE_DOC string | Acting under
"""
)

PRODUCT = Schema("""
ID integer ro col=id | ID
CATALOG_ID integer | Catalog
PRICE double money | Price
CURRENCY_ID crm_currency | Currency
NAME string req | Name
CODE string | Symbolic code
DESCRIPTION string | Description
DESCRIPTION_TYPE string | Description type
ACTIVE char | Active
SECTION_ID integer | Section
SORT integer | Sort
VAT_ID integer | VAT rate
VAT_INCLUDED char | VAT included
MEASURE integer | Unit of measurement
XML_ID string | External ID
PREVIEW_PICTURE product_file | Preview image
DETAIL_PICTURE product_file | Full image
DATE_CREATE datetime ro col=date_create | Created on
TIMESTAMP_X datetime ro col=date_modify | Modified on
MODIFIED_BY user ro | Modified by
CREATED_BY user ro | Created by
TYPE integer hidden | Product type
PURCHASING_PRICE double hidden | Purchasing price
PURCHASING_CURRENCY string hidden | Purchasing currency
QUANTITY double hidden | Quantity
""")

DEAL = Schema("""
ID integer ro col=id | ID
TITLE string | Name
TYPE_ID crm_status status=DEAL_TYPE | Type
STAGE_ID crm_status col=stage_id status=DEAL_STAGE | Deal stage
PROBABILITY integer | Probability
CURRENCY_ID crm_currency | Currency
OPPORTUNITY double money | Total
IS_MANUAL_OPPORTUNITY char | Manual calculation mode
TAX_VALUE double money | Tax rate
LEAD_ID crm_lead ro | Lead
COMPANY_ID crm_company col=company_id | Company
CONTACT_ID crm_contact | Contact
QUOTE_ID crm_quote ro | Quote
BEGINDATE date | Start date
CLOSEDATE date | Expected close date
ASSIGNED_BY_ID user | Responsible person
CREATED_BY_ID user ro | Created by
MODIFY_BY_ID user ro | Modified by
DATE_CREATE datetime ro col=date_create | Created on
DATE_MODIFY datetime ro col=date_modify | Modified on
OPENED char | Available to everyone
CLOSED char | Closed
COMMENTS string | Comment
ADDITIONAL_INFO string | Additional information
LOCATION_ID location | Location
CATEGORY_ID crm_category imm col=category_id | Pipeline
STAGE_SEMANTIC_ID string ro | Stage group
IS_NEW char ro | New deal
IS_RECURRING char | Recurring deal
IS_RETURN_CUSTOMER char ro | Repeat deal
IS_REPEATED_APPROACH char ro | Repeat inquiry
SOURCE_ID crm_status status=SOURCE | Source
SOURCE_DESCRIPTION string | Source information
ORIGINATOR_ID string col=originator_id | External source
ORIGIN_ID string col=origin_id | Item ID in data source
ORIGIN_VERSION string | Original version
MOVED_BY_ID user ro | Stage changed by
MOVED_TIME datetime ro | Stage changed on
LAST_ACTIVITY_TIME datetime ro | Last activity time
UTM_SOURCE string | Ad system
UTM_MEDIUM string | Medium
UTM_CAMPAIGN string | Ad campaign UTM
UTM_CONTENT string | Campaign contents
UTM_TERM string | Campaign search term
LAST_ACTIVITY_BY user ro | Last activity by
CONTACT_IDS crm_contact multi | Contacts
""")

SMART_INVOICE = Schema("""
id integer ro col=id | ID
xmlId string | External ID
title string | Name
createdBy user ro | Created by
updatedBy user ro | Updated by
movedBy user ro | Moved by
createdTime datetime ro col=date_create | Created on
updatedTime datetime ro col=date_modify | Updated on
movedTime datetime ro | Moved on
categoryId crm_category col=category_id | Pipeline
opened boolean | Available to everyone
stageId crm_status col=stage_id | Stage
previousStageId crm_status ro | Previous stage
begindate date | Invoice date
closedate date | Due date
companyId crm_company col=company_id | Company
contactId crm_contact | Contact
opportunity double | Total
isManualOpportunity boolean | Manual calculation mode
taxValue double | Tax
currencyId crm_currency | Currency
mycompanyId crm_company | Your company details
sourceId crm_status status=SOURCE | Source
sourceDescription string | Source information
webformId integer ro | Created by CRM form
accountNumber string | Invoice #
assignedById user | Responsible person
comments string | Comment
locationId location | Location
observers user multi | Observers
contactIds crm_contact multi | Contacts
entityTypeId integer ro col=entity_type_id | Entity type ID
parentId2 crm_entity col=parent_deal | Deal
parentId7 crm_entity | Estimate
""")

STATUS = Schema("""
ID integer ro col=id | ID
ENTITY_ID string req col=entity_id | Entity ID
STATUS_ID string req col=status_id | Status ID
NAME string req | Name
NAME_INIT string ro | Default name
SORT integer col=sort | Sort
SYSTEM char ro | System
CATEGORY_ID integer | Category
COLOR string | Color
SEMANTICS string | Semantics
EXTRA object ro | Extra
""")

PRESET = Schema("""
ID integer ro col=id | ID
ENTITY_TYPE_ID integer | Entity type
COUNTRY_ID integer | Country
NAME string req | Name
DATE_CREATE datetime ro | Created on
DATE_MODIFY datetime ro | Modified on
CREATED_BY_ID user ro | Created by
MODIFY_BY_ID user ro | Modified by
ACTIVE char | Active
SORT integer | Sort
XML_ID string | External ID
""")

CATEGORY = Schema("""
id integer ro col=id | ID
name string | Name
sort integer | Sort
entityTypeId integer col=entity_type_id | Entity type ID
isDefault char | Default
originId string | Origin ID
originatorId string | Originator ID
""")

CATALOG_PRODUCT = Schema("""
id integer ro col=id src=ID | ID
iblockId integer src=CATALOG_ID | Information block
name string req src=NAME | Name
active char src=ACTIVE | Active
available char ro src=ACTIVE | Available
code string src=CODE | Symbolic code
xmlId string src=XML_ID | External code
iblockSectionId integer src=SECTION_ID | Section
sort integer src=SORT | Sort
measure integer src=MEASURE | Unit of measurement
vatId integer src=VAT_ID | VAT rate
vatIncluded char src=VAT_INCLUDED | VAT included
type integer src=TYPE | Product type
purchasingPrice double src=PURCHASING_PRICE | Purchasing price
purchasingCurrency string src=PURCHASING_CURRENCY | Purchasing currency
quantity double src=QUANTITY | Quantity
detailText string src=DESCRIPTION | Detailed description
detailTextType string src=DESCRIPTION_TYPE | Detailed description type
dateCreate datetime ro col=date_create src=DATE_CREATE | Created on
timestampX datetime ro col=date_modify src=TIMESTAMP_X | Modified on
createdBy user ro src=CREATED_BY | Created by
modifiedBy user ro src=MODIFIED_BY | Modified by
""")

STAGE_HISTORY = Schema("""
ID integer ro col=id | ID
TYPE_ID integer ro | Record type
OWNER_ID integer ro col=owner_id | Item ID
CREATED_TIME datetime ro col=created_time | Moved on
CATEGORY_ID integer ro | Pipeline
STAGE_SEMANTIC_ID string ro | Stage group
STAGE_ID string ro col=stage_id | Stage
ENTITY_TYPE_ID integer hidden col=entity_type_id | Entity type
""")

USER_FIELD = Schema("""
ID integer ro col=id | ID
ENTITY_ID string ro col=entity_id | Entity
FIELD_NAME string req imm col=field_name | Field name
USER_TYPE_ID string req imm | Type
XML_ID string | External code
SORT integer | Sort
MULTIPLE char imm | Multiple
MANDATORY char | Required
SHOW_FILTER char | Show in filter
SHOW_IN_LIST char | Show in list
EDIT_IN_LIST char | Editable in list
IS_SEARCHABLE char | Searchable
EDIT_FORM_LABEL string | Form label
LIST_COLUMN_LABEL string | List column label
LIST_FILTER_LABEL string | Filter label
ERROR_MESSAGE string | Error message
HELP_MESSAGE string | Help
SETTINGS object | Settings
LIST object | Enumeration items
""")

BANK_DETAIL = Schema(
    """
ID integer ro col=id | ID
ENTITY_TYPE_ID integer ro | Entity type
ENTITY_ID integer req imm col=entity_id | Requisite ID
COUNTRY_ID integer | Country
"""
    + _REQUISITE_PART
    + """SORT integer | Sort
RQ_BANK_NAME string | Bank name
RQ_BANK_CODE string | Bank code
RQ_BANK_ADDR string | Bank address
RQ_BANK_ROUTE_NUM string | Bank routing number
RQ_BIK string | BIK
RQ_MFO string | MFO
RQ_ACC_NAME string | Account name
RQ_ACC_NUM string | Account number
RQ_ACC_TYPE string | Account type
RQ_IIK string | IIK
RQ_ACC_CURRENCY string | Account currency
RQ_COR_ACC_NUM string | Correspondent account
RQ_IBAN string | IBAN
RQ_SWIFT string | SWIFT
RQ_BIC string | BIC
RQ_CODEB string | Bank code (CODEB)
RQ_CODEG string | Branch code (CODEG)
RQ_RIB string | RIB
RQ_AGENCY_NAME string | Agency name
COMMENTS string | Comment
"""
)

ADDRESS = Schema("""
TYPE_ID integer req imm col=type_id | Address type
ENTITY_TYPE_ID integer req imm col=entity_type_id | Entity type
ENTITY_ID integer req imm col=entity_id | Entity ID
ADDRESS_1 string | Street, house
ADDRESS_2 string | Apartment, office
CITY string | City
POSTAL_CODE string | Postal code
REGION string | District
PROVINCE string | Region
COUNTRY string | Country
COUNTRY_CODE string | Country code
LOC_ADDR_ID integer | Location address ID
ANCHOR_TYPE_ID integer ro | Anchor entity type
ANCHOR_ID integer ro | Anchor entity ID
ROW_ID integer ro hidden col=id | Row
""")

CATALOG_PRICE = Schema("""
id integer ro col=id | ID
productId integer req col=product_id | Product
catalogGroupId integer req | Price type
price double req | Price
currency string req | Currency
extraId integer | Markup
priceScale double ro | Price in the base currency
quantityFrom integer | Quantity from
quantityTo integer | Quantity to
timestampX datetime ro | Modified on
""")
