-- One database per service, each owned by a login role of the same name: a service can reach only its
-- own data ("each service owns its database"). Run once by the postgres image on an empty data volume
-- (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
--
-- Development passwords, used by docker-compose.yml's SW_*_DATABASE_URL: never reuse them elsewhere.

CREATE ROLE gateway LOGIN PASSWORD 'gateway-dev';
CREATE ROLE customs LOGIN PASSWORD 'customs-dev';
CREATE ROLE phyto LOGIN PASSWORD 'phyto-dev';

CREATE DATABASE gateway OWNER gateway;
CREATE DATABASE customs OWNER customs;
CREATE DATABASE phyto OWNER phyto;

-- No service may connect to another's database. (PostgreSQL 15+ already keeps CREATE on the public
-- schema for the database owner, which is the service's role.)
REVOKE ALL ON DATABASE gateway FROM PUBLIC;
REVOKE ALL ON DATABASE customs FROM PUBLIC;
REVOKE ALL ON DATABASE phyto FROM PUBLIC;
