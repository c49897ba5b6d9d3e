/* The program each layer's link check builds (CMakeLists.txt, hs_layer): it calls nothing, the
 * layer's objects are linked whole, so every symbol they use must come from the layers below. */
int main(void)
{
    return 0;
}
