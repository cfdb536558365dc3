/* A shared object that is not a Lethe plug-in: it exports no lethe_method_plugin. */
int not_a_plugin(int x);

int not_a_plugin(int x)
{
    return x + 1;
}
