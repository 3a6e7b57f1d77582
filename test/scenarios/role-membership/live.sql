CREATE ROLE rm_old_group;
CREATE ROLE rm_vendor LOGIN IN ROLE rm_old_group;
